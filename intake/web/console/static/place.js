// The commune type-ahead: names and former names from /console/places; the chosen
// commune's code goes in the hidden ward_code field (the server reads the text otherwise).
(function(){
  var place=document.getElementById('place'), ward=document.getElementById('ward_code');
  var list=document.getElementById('place-list'), timer=null;
  if(!place||!ward||!list)return;
  function pick(){
    ward.value='';
    list.querySelectorAll('option').forEach(function(o){if(o.value===place.value){ward.value=o.dataset.code;}});
  }
  function load(){
    fetch('/console/places?q='+encodeURIComponent(place.value),{credentials:'same-origin'})
      .then(function(r){return r.ok?r.json():[];}).then(function(rows){
        list.innerHTML='';
        rows.forEach(function(row){
          var o=document.createElement('option');
          o.value=row.name;o.dataset.code=row.ward_code;
          if(row.former){o.label=row.former;}
          list.appendChild(o);
        });
        pick();
      });
  }
  place.addEventListener('input',function(){pick();clearTimeout(timer);timer=setTimeout(load,200);});
  place.addEventListener('change',pick);
})();
